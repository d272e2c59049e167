"""Message templates: saved only when they compile in the sandbox, rendered per contact."""
