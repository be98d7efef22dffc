"""Guardrail policies as code (Rego) and the policy decision point.

The guardrails and their engines arrive with the policy issue; commands already pass
through one service layer, so the decision point slots in before each ``save()``."""
