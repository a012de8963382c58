/* protect.c — protected-mode (Redis 7.0): who counts as local, and the refusal text. */
#include "server/server.h"

#include <string.h>

const char srv_protected_denied[] =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from the "
    "loopback interface. If you want to connect from external computers to Redis you may adopt "
    "one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG "
    "SET protected-mode no' from the loopback interface by connecting to Redis from the same "
    "host the server is running, however MAKE SURE Redis is not publicly accessible from "
    "internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    "you can just disable the protected mode by editing the Redis configuration file, and "
    "setting the protected mode option to 'no', and then restarting the server. 3) If you "
    "started the server manually just for testing, restart it with the '--protected-mode no' "
    "option. 4) Setup a an authentication password for the default user. NOTE: You only need "
    "to do one of the above things in order for the server to start accepting connections from "
    "the outside.\r\n";

int srv_addr_is_loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strncmp(addr, "[::1]:", 6) == 0 ||
           strncmp(addr, "[::ffff:127.", 12) == 0;
}

/* As Redis 7.0's islocalClient: the client's address is exactly 127.0.0.1 or ::1 (other
 * 127.x.y.z addresses are not local to Redis either). An IPv4-mapped ::ffff:127.0.0.1 (a
 * dual-stack listener) is the same loopback client and counts too. */
static int addr_is_local(const char *addr)
{
    static const char *const local[] = {"127.0.0.1:", "[::1]:", "[::ffff:127.0.0.1]:"};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        if (strncmp(addr, local[i], strlen(local[i])) == 0) return 1;
    return 0;
}

int srv_protected_refuses(int protected_mode, int default_nopass, const char *addr)
{
    return protected_mode && default_nopass && !addr_is_local(addr);
}
