"""Official statistics: reading files (CSV, XLSX, SDMX), validating, storing, country groups."""
