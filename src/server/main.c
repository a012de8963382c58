/* main.c — the synod binary: parse the configuration, run the server until SIGINT/SIGTERM. */
#include <stdio.h>
#include <string.h>

#include "server/config.h"
#include "server/server.h"

static const char *config_file_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0) return argv[i] + 9;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static srv_config cfg;
    static server srv;
    char err[1024];
    int rc = srv_config_parse_args(&cfg, argc, argv, err, sizeof(err));
    if (rc == SRV_CONFIG_EXIT_OK) return 0;
    if (rc == SRV_CONFIG_ERROR) {
        fprintf(stderr, "synod: %s\n", err);
        return 1;
    }
    if (srv_init(&srv, &cfg, config_file_arg(argc, argv)) < 0) {
        srv_deinit(&srv);
        return 1;
    }
    rc = srv_run(&srv);
    srv_deinit(&srv);
    return rc < 0 ? 1 : 0;
}
