"""Training data of the model zoo: MNIST (:mod:`.mnist`) and in-memory training sets (:mod:`.training`)."""
