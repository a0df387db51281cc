"""User accounts of the people who sign in to the web pages: roles, argon2 password hashes,
server-side sessions and the sign-in audit. Machines keep using API tokens (tickets.tokens)."""
