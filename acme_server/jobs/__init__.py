"""Work that runs beside requests: the renewal scheduler, the maintenance sweep and the
domain-event subscribers (webhooks)."""
