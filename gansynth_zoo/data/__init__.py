"""Training data of the model zoo: the in-memory training set (:mod:`.dataset`), its sources
(:mod:`.sources`: MNIST from :mod:`.mnist`, audiofeat caches through :mod:`.cache`, which also holds
the :class:`~.cache.Representation` that maps cached features to model tensors and back to audio)."""
