"""Channel adapters (SMS, email, voice), provider webhooks and the provider simulator."""
