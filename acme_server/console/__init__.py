"""The web console under /ui: server-rendered pages (Jinja2) over the same services REST
calls, for people signed in with a console user (`kms user create`). Every page is a
ConsoleRoute naming the permission it needs (guard.py); templates escape every value; no
page needs JavaScript, static/console.js only enhances (copy buttons, local times,
confirmations)."""
