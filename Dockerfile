# baton's image: nothing but the static binary. Build the binary first
# (scripts/build-static), then: podman build -t baton .
# In a pod, an initContainer runs `/baton install /baton-bin/` into an emptyDir.
FROM scratch
COPY target/x86_64-unknown-linux-gnu/release/baton /baton
# Where Tekton's controller runs its entrypoint image from: the build with
# Tekton's machinery (the tekton feature; docs/tekton.md).
COPY target/tekton/x86_64-unknown-linux-gnu/release/baton /ko-app/entrypoint
ENTRYPOINT ["/baton"]
CMD ["--help"]
