package commodityforecast.delta;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.util.Iterator;
import java.util.UUID;

import io.delta.storage.S3SingleDriverLogStore;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FSDataOutputStreamBuilder;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.s3a.AWSServiceIOException;
import org.apache.hadoop.fs.s3a.RemoteFileChangedException;
import software.amazon.awssdk.core.exception.SdkServiceException;

/**
 * A Delta LogStore for {@code s3a://} tables that many writers (pods, clusters) can commit
 * to at once, with no lock service: a new log entry is published with S3's put-if-absent
 * ({@code PutObject} with {@code If-None-Match: *}), so of two writers of one version exactly
 * one wins, and the other gets {@link FileAlreadyExistsException}, which Delta answers by
 * checking for conflicts and retrying at the next version.
 *
 * <p>Reads and listings are those of Delta's {@link S3SingleDriverLogStore}; its in-JVM lock and
 * cache of recent writes are never used (S3 lists what it wrote at once). Overwrites
 * ({@code _last_checkpoint}) stay plain writes. An S3 object appears whole or not at all, so
 * a partial write is never visible.
 *
 * <p>Requires Hadoop 3.4.2+ S3A with conditional create enabled
 * ({@code fs.s3a.create.conditional.enabled}, true by default) and a store that honours
 * {@code If-None-Match} (AWS S3 since 2024). Without the S3A capability every new entry is
 * refused; a store that ignores the header cannot be detected here (the job's preflight
 * probe refuses it).
 */
public class S3ConditionalLogStore extends S3SingleDriverLogStore {

    /** Hadoop's create option that makes S3A send {@code If-None-Match: *}. */
    public static final String CONDITIONAL_CREATE = "fs.option.create.conditional.overwrite";

    /** User metadata naming the writer of an entry: {@code x-amz-meta-delta-writer-id}. */
    public static final String WRITER_ID = "delta-writer-id";

    private static final String WRITER_ID_OPTION = "fs.s3a.create.header." + WRITER_ID;
    private static final String WRITER_ID_XATTR = "header." + WRITER_ID;

    public S3ConditionalLogStore(Configuration hadoopConf) {
        super(hadoopConf);
    }

    @Override
    public void write(Path path, Iterator<String> actions, Boolean overwrite,
            Configuration hadoopConf) throws IOException {
        // The whole entry first: an action that fails to serialize publishes nothing.
        byte[] entry = join(actions);
        FileSystem fs = path.getFileSystem(hadoopConf);
        String writerId = UUID.randomUUID().toString();
        FSDataOutputStream stream = overwrite
            ? fs.create(path, true)
            : createIfAbsent(fs, path, writerId);
        try {
            stream.write(entry);
        } catch (IOException | RuntimeException failure) {
            stream.abort();  // closing would publish what was buffered
            throw failure;
        }
        try {
            stream.close();  // S3A sends the PUT here
        } catch (IOException failure) {
            if (overwrite) {
                throw failure;
            }
            settle(fs, path, writerId, failure);
        }
    }

    /** A stream whose close puts {@code path} only if no object is there, tagged as ours. */
    private static FSDataOutputStream createIfAbsent(FileSystem fs, Path path, String writerId)
            throws IOException {
        if (!fs.hasPathCapability(path, CONDITIONAL_CREATE)) {
            throw new IOException("cannot commit " + path + " safely: " + fs.getScheme()
                + " has no conditional create here (S3A 3.4.2+ with "
                + "fs.s3a.create.conditional.enabled=true is needed)");
        }
        FSDataOutputStreamBuilder<?, ?> builder = fs.createFile(path);
        builder.overwrite(false);
        builder.must(CONDITIONAL_CREATE, true);
        builder.must(WRITER_ID_OPTION, writerId);
        try {
            return builder.build();
        } catch (org.apache.hadoop.fs.FileAlreadyExistsException taken) {
            throw alreadyExists(path, taken);
        }
    }

    /**
     * After a failed publication: return if the entry there is ours (the PUT landed but its
     * answer was lost, and S3A's retry found the key taken), throw
     * {@link FileAlreadyExistsException} if another writer's entry is there or the store said
     * so, else rethrow the failure: the outcome is then unknown and the transaction fails.
     */
    private static void settle(FileSystem fs, Path path, String writerId, IOException failure)
            throws IOException {
        String owner;
        try {
            owner = writerOf(fs, path);
        } catch (IOException probeFailure) {
            failure.addSuppressed(probeFailure);
            throw failure;
        }
        if (writerId.equals(owner)) {
            return;
        }
        if (owner != null || isTaken(failure)) {
            throw alreadyExists(path, failure);
        }
        throw failure;
    }

    /** The writer id of the entry at {@code path}, "" if it has none, null if absent. */
    private static String writerOf(FileSystem fs, Path path) throws IOException {
        try {
            if (!fs.getFileStatus(path).isFile()) {
                return null;
            }
            byte[] id = fs.getXAttr(path, WRITER_ID_XATTR);
            return id == null ? "" : new String(id, StandardCharsets.UTF_8);
        } catch (FileNotFoundException absent) {
            return null;
        }
    }

    /**
     * Whether {@code failure} says another writer holds the key, in any of the forms S3A
     * reports it: {@link RemoteFileChangedException} (S3A's 412), its own
     * {@code FileAlreadyExistsException}, or an S3 error with status 412
     * (PreconditionFailed) or 409 (ConditionalRequestConflict: a concurrent conditional
     * write; Delta then rereads the log and retries) anywhere in the cause chain.
     */
    public static boolean isTaken(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof RemoteFileChangedException
                    || cause instanceof org.apache.hadoop.fs.FileAlreadyExistsException
                    || cause instanceof AWSServiceIOException
                        && isTakenStatus(((AWSServiceIOException) cause).statusCode())
                    || cause instanceof SdkServiceException
                        && isTakenStatus(((SdkServiceException) cause).statusCode())) {
                return true;
            }
        }
        return false;
    }

    private static boolean isTakenStatus(int status) {
        return status == 412 || status == 409;
    }

    private static FileAlreadyExistsException alreadyExists(Path path, Throwable cause) {
        FileAlreadyExistsException taken = new FileAlreadyExistsException(path.toString());
        taken.initCause(cause);
        return taken;
    }

    private static byte[] join(Iterator<String> actions) {
        ByteArrayOutputStream entry = new ByteArrayOutputStream();
        while (actions.hasNext()) {
            entry.writeBytes((actions.next() + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return entry.toByteArray();
    }

    /** S3 publishes an object whole on close, or not at all. */
    @Override
    public Boolean isPartialWriteVisible(Path path, Configuration hadoopConf) {
        return false;
    }
}
