/* A stand-in for libdevmapper and libblkid, preloaded into make-dynpart-mappings.
 * A container has no device-mapper, so the mappings the tool would create are
 * printed instead; every block device name resolves to $SUPER_PATH. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dm_task { int type; };
static struct dm_task task;

struct dm_task *dm_task_create(int type) { task.type = type; return &task; }
int dm_task_set_name(struct dm_task *t, const char *name) { printf("device %s\n", name); return 1; }
int dm_task_add_target(struct dm_task *t, uint64_t start, uint64_t size, const char *type, const char *params) {
    printf("target %llu %llu %s %s\n", (unsigned long long)start, (unsigned long long)size, type, params);
    return 1;
}
int dm_task_run(struct dm_task *t) { return 1; }
void dm_task_destroy(struct dm_task *t) {}

static char *super_path(void) {
    const char *path = getenv("SUPER_PATH");
    return path ? strdup(path) : NULL;
}
char *blkid_evaluate_tag(const char *token, const char *value, void *cache) { return super_path(); }
char *blkid_evaluate_spec(const char *spec, void *cache) { return super_path(); }
