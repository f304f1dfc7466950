"""The Clusters view: the cluster tree and the details of the highlighted node or cluster."""
