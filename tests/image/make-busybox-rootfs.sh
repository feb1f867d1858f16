#!/bin/sh
# Makes the test image's root filesystem tarball from Debian's busybox-static: nothing is
# downloaded but the package. Usage: make-busybox-rootfs.sh OUT.tar
set -eu
out=${1:?usage: make-busybox-rootfs.sh OUT.tar}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "busybox-static is not installed (apt-get install busybox-static)" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'dynamically linked' && { echo "$busybox is not static" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/root" "$dir/home" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/var/tmp" "$dir/usr/bin" "$dir/sbin" "$dir/usr/sbin"
cp "$busybox" "$dir/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
done
chmod 1777 "$dir/tmp" "$dir/var/tmp"
cat > "$dir/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
tester:x:1000:1000:tester:/home/tester:/bin/sh
PASSWD
cat > "$dir/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
tty:x:5:
wheel:x:10:tester
nogroup:x:65534:
tester:x:1000:
GROUP
mkdir -p "$dir/home/tester" && chown 1000:1000 "$dir/home/tester"
tar --numeric-owner -C "$dir" -cf "$out" .
