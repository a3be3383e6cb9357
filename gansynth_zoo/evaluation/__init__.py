"""Evaluation of trained generators: the digit suite (:mod:`.digits`), the spectrogram suite
(:mod:`.audio`), MDCT statistics (:mod:`.mdct`), real-time factors (:mod:`.rtf`), the one way
examples are drawn (:mod:`.sampling`) and the metric functions they share (:mod:`.metrics`)."""
