"""How the fit's constants were chosen: each measures the candidates on training or development
people, never on final ones."""
