/* script_func.c — FUNCTION and FCALL (placeholder until the library lands). */
#include <string.h>

#include "script/script_internal.h"

int sfunc_route(script_engine *se, int argc, const data_arg *argv)
{
    (void)se, (void)argc, (void)argv;
    return SCRIPT_NONE;
}

int sfunc_exec(script_engine *se, int argc, const data_arg *argv, const script_env *env,
               const script_out *out)
{
    (void)se, (void)argc, (void)argv, (void)env;
    sreply_error(out, "ERR unknown command");
    return 0;
}

void sfunc_sync(script_engine *se)
{
    (void)se;
}
