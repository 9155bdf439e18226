"""Declarative ZenML stack definitions (`stacks/*.yaml`) and the command that applies them."""
