# baton's image: nothing but the static binary, its tekton build and the
# licence. Build the binaries first (scripts/build-static), then:
# podman build -t baton .   (.dockerignore keeps all else out of the context)
# In a pod, an initContainer runs `/baton install /baton-bin/` into an emptyDir.
FROM scratch
COPY LICENSE /LICENSE
COPY target/x86_64-unknown-linux-gnu/release/baton /baton
# Where Tekton's controller runs its entrypoint image from: the build with
# Tekton's machinery (the tekton feature; docs/tekton.md).
COPY target/tekton/x86_64-unknown-linux-gnu/release/baton /ko-app/entrypoint
ENTRYPOINT ["/baton"]
CMD ["--help"]
