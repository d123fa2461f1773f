"""Layer 0: tools every app uses. No models, no domain words, and no import of any app."""
