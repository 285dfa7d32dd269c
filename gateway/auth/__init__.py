"""Who is asking: the authenticated caller of a request, and what that caller may do."""
