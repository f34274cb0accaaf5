FROM busybox
RUN echo update > /var/log/apt.log
RUN mkdir -p /var/www/html
COPY index.html /var/www/html/index.html
