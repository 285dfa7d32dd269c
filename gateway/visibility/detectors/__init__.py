"""One module per exception kind; `gateway.visibility.registry` lists them."""
