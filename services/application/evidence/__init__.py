"""Tamper evidence: signed checkpoints, the keyring, verification of the store, repudiation."""
