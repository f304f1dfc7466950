"""Graph passes, one module each: constprop (with ONNX Runtime's offline optimizer), dce,
cluster (critical-path linear clustering), clone, merge, hypercluster."""
