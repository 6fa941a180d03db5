"""The person's own local page: rate photos in the browser, see them ranked by their taste."""
