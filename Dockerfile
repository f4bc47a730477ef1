# syntax=docker/dockerfile:1
#
# mfadesk: a static binary on a distroless, non-root base image.
#
#   docker build -t mfadesk .
#   cp cmd/mfadesk/policy.example.yaml policy.yaml   # then put your people in it
#   docker run --rm -p 8080:8080 -v mfadesk-data:/data \
#     -v "$PWD/policy.yaml:/etc/mfadesk/policy.yaml:ro" \
#     -e SLACK_BOT_TOKEN -e SLACK_APP_TOKEN -e MFADESK_APPROVAL_CHANNEL mfadesk
#
# (See README "Docker": a bind mount of a file that does not exist makes an
# empty directory, and start-up then says the policy "is a directory".)
#
# cmd/mfadesk/dockerfile_test.go runs this file's go build command and checks
# that the result is static, so CI proves the build without a Docker engine.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/mfadesk ./cmd/mfadesk
# The data directory, owned by the runtime user (distroless nonroot is
# 65532): a directory created by WORKDIR or VOLUME alone would be root's,
# and the embedded database could not be written.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mfadesk /mfadesk
COPY --from=build --chown=65532:65532 /out/data/ /data/
# Numeric, so that Kubernetes' runAsNonRoot can verify it (distroless's
# nonroot is 65532).
USER 65532:65532
WORKDIR /data
# The embedded SQLite database lives here; with PostgreSQL
# (MFADESK_DATABASE_URL=postgres://...) the volume stays empty.
VOLUME ["/data"]
# The policy file is not baked in: mount yours at /etc/mfadesk/policy.yaml
# (a read-only bind mount, or a ConfigMap in Kubernetes).
ENV MFADESK_DATABASE_URL=sqlite:/data/mfadesk.db MFADESK_POLICY_FILE=/etc/mfadesk/policy.yaml
EXPOSE 8080
ENTRYPOINT ["/mfadesk"]
CMD ["serve"]
