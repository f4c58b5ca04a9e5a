/* conf: a setting comes from its flag, else the environment, else a default. */
#ifndef CONF_H
#define CONF_H
const char *conf_str(const char *flag, const char *env, const char *def);
/* Numbers: a malformed value is a usage error (exit 100) naming the setting. */
long conf_long(const char *flag, const char *env, long def);
double conf_num(const char *flag, const char *env, double def);
/* "90s", "30m", "2h", "7d" or plain seconds; -1 when malformed. */
double conf_duration(const char *s);
/* The User-Agent every tool sends: USER_AGENT, else one naming the project. */
const char *conf_useragent(void);
#endif
