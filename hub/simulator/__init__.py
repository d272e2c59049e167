"""The provider simulator: a real HTTP server standing in for Twilio and SendGrid. The hub reaches
it only through the providers' base URLs; its developer page is a hub page (`hub.web.dev_views`)
that talks to it over HTTP too."""
