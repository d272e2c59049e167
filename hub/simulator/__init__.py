"""The provider simulator: a real HTTP server standing in for Twilio and SendGrid, and its developer
page. The hub reaches it only through the providers' base URLs."""
