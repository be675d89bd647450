"""A leaf certificate's life: issuance, enrollment, renewal (on request and server-driven),
revocation, the inventory, bundles and exports."""
