"""Server-rendered registry pages: joining, profiles, the inbox, the directory, requests, matching."""
