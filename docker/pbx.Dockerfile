# The PBX: Asterisk 22 from Debian unstable, the same recipe as the chroot that
# `hotline pbx build` makes (RECIPE in hotline/stack/pbx.py: keep the two lists the same).
#
# This image holds no configuration. Its instance folder (config, spool, logs, recordings,
# prompts) is the volume at /srv/hotline/default, filled by the controller image before
# Asterisk starts: `hotline pbx render --mount /srv/hotline/default` (a CLI subcommand of
# this project; see the pbx-config service in docker-compose.yml).
FROM debian:unstable-slim

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        asterisk \
        asterisk-modules \
        asterisk-core-sounds-ru \
        asterisk-core-sounds-ru-wav \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man /usr/share/info

VOLUME /srv/hotline/default

# Asterisk's local times (AMI CoreStatus) are read as UTC by the controller.
ENV TZ=UTC

# The config was written by another container (another uid for "asterisk"): hand the folder
# to this image's asterisk user, then run Asterisk in the foreground, as that user.
CMD ["sh", "-c", "chown -R asterisk:asterisk /srv/hotline/default && exec asterisk -f -n -U asterisk -G asterisk -C /srv/hotline/default/etc/asterisk.conf"]
