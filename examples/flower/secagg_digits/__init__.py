"""Federated softmax regression on UCI digits, aggregated with secagg inside Flower."""
