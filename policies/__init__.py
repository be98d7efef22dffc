"""Guardrail policies as code (Rego) and the policy decision point.

``policies/bundle/`` holds the shipped guardrails (``guardrails.rego``, its tests and
``data.json``); ``bundle`` loads a bundle and computes its digest; ``engine`` defines what
an engine answers (``Verdict``) and the compile check every bundle passes; ``embedded``
evaluates in-process with regorus; ``sandboxed`` evaluates in worker processes
(``sandbox``, ``worker``) under a time budget, as the server does; ``proposal_checks``
and ``whatif`` review a proposed version in workers of their own (``review``); ``testing``
runs a bundle's Rego tests. The input document the rules read is described in
``policies/README.md``."""
