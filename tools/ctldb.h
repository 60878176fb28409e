/* ctldb.h: xfedctl's database commands, which work on the store itself, not through a node. */
#ifndef XF_CTLDB_H
#define XF_CTLDB_H

/*
 * Runs "db ..." (argv[0] is "db") with the storage block of the
 * configuration file conf_path; json: print the result as one line of
 * JSON.  Returns the exit status: 0 done, 1 failed (one line on stderr),
 * 2 usage error (a usage line on stderr).
 */
int	 xf_ctl_db(const char *conf_path, int argc, char **argv, int json);

#endif /* XF_CTLDB_H */
