# Test image entrypoint: proves it ran (a marker on stdout), then runs its arguments like most tool images do.
echo "xcs-entrypoint-ran"
exec "$@"
