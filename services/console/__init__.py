"""The web console: server-rendered pages (Jinja2, htmx) over the same application
service, views and rules as the API. Nothing here decides what may be done: every page
reads through the API's view dependencies and every form runs the ledger's commands, so a
rule is never enforced only in the browser. ``install_console`` mounts it on the app."""
