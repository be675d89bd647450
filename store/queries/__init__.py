"""The Store's query mixins, one module per noun; `store.store.Store` composes them all."""
