"""The CA core: keys, hierarchy, signing, serials, CRLs, exports, keys encrypted at rest."""
