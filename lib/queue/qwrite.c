/*
 * qwrite: creating and announcing queue files (lib/queue/qwrite.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/str.h"
#include "queue/qfile.h"
#include "queue/qwrite.h"

#define QW_TRIES 100

int
qw_create(char id[QID_SIZE], char name[QW_NAME_MAX])
{
	int fd, tries;

	for (tries = 0; tries < QW_TRIES; tries++) {
		qid_new(id);
		snprintf(name, QW_NAME_MAX, "mess/%s", id);
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    QFILE_MODE_WORK);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			break;
	}
	if (tries == QW_TRIES)
		errno = EEXIST;
	name[0] = '\0';
	return -1;
}

int
qw_todo(const char *id)
{
	char name[QW_NAME_MAX];
	int fd;

	snprintf(name, sizeof name, "todo/%s", id);
	fd = open(name, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	return close(fd) < 0 ? -1 : 1;
}

int
qw_trigger(void)
{
	int fd = open("trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC), saved;

	if (fd < 0)
		return errno == ENXIO ? 0 : -1;   /* ENXIO: no reader */
	if (write(fd, "N", 1) < 0 && errno != EAGAIN) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 1;
}

void
qw_sockaddr(const char *spool, struct sockaddr_un *sa, socklen_t *len_r)
{
	static const char pre[] = "tern-enqueue:";
	size_t n = strlen(spool), room = sizeof sa->sun_path - 1 - (sizeof pre - 1);
	int k;

	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	/* sun_path[0] = '\0': the abstract namespace (unix(7)) */
	if (n <= room)
		k = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "%s%s",
		    pre, spool);
	else
		k = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1,
		    "%s#%016zx", pre, str_hash(spool, 0));
	*len_r = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    (size_t)k);
}

int
qw_peer(int fd, uid_t *uid_r, pid_t *pid_r)
{
	struct ucred uc;
	socklen_t len = sizeof uc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -1;
	if (len != sizeof uc) {
		errno = EINVAL;
		return -1;
	}
	*uid_r = uc.uid;
	if (pid_r)
		*pid_r = uc.pid;
	return 1;
}
