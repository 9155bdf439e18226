"""Custom ZenML alerter flavors, one package per flavor, laid out like ZenML's integrations.

ZenML ships only the slack and discord alerter flavors. Flavors here are registered with the
ZenML store by ``python -m stacks apply`` (the ``flavors:`` list of a stack file).
"""
