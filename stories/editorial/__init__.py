"""Editorial: the admin where staff write, review, publish, revise and import stories."""
