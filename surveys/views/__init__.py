"""Server-rendered pages: respondents' pages and staff screens, one module per area."""
