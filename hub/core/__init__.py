"""The platform every capability stands on: settings, the database, Redis, authentication, translations,
errors, validation, formatting and the business clock. It imports no domain package."""
