"""Who may call what over HTTP: roles and their permissions (`roles`), the caller as a
`Principal`, secrets hashed at rest (`tokens`), configured static tokens (`static`), OIDC
JWTs (`oidc`), both tried in turn (`authenticator`), their settings (`settings`), and the
FastAPI dependency that guards a route (`guard`); who made a change, for the audit chain
(`actor`). Everything but `guard` is pure of HTTP."""
