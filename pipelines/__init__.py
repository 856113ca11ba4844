"""sewershare: the Taizhou sewage-network data-sharing warehouse."""
