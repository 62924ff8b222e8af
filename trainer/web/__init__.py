"""The web edge: JSON API, HTML pages, dependencies and templating."""
