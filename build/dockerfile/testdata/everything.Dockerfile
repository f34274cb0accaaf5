# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS build
ARG VERSION=1.0
ENV APP_HOME=/app \
    GREETING="hello world"
WORKDIR $APP_HOME
COPY --chown=0:0 --chmod=0644 *.txt ./
ADD https://example.com/file.tar.gz /downloads/
RUN <<EOF
echo building $VERSION
EOF
FROM scratch
LABEL org.opencontainers.image.title="demo" version=${VERSION:-none}
COPY --from=build /app /app
EXPOSE 80/tcp 53/udp
USER 1000:1000
VOLUME ["/data"]
STOPSIGNAL SIGTERM
SHELL ["/bin/sh", "-c"]
HEALTHCHECK --interval=30s --retries=3 CMD ["/app/check"]
ONBUILD RUN echo child
ENTRYPOINT ["/app/run"]
CMD ["--help"]
