// A real Neo4j 5.26 LTS server for development, tests and the demo: the embedded
// community DBMS from Maven Central with its Bolt connector on a loopback address.
// It is run by Java's single-file source launcher (see scripts/neo4j.sh), so the
// repository carries no build step and no jar for it.
//
// Settings come from the environment, as the rest of CTAS takes them:
//   NEO4J_HOME      where the store, logs and auth files live (required)
//   NEO4J_BOLT_ADDR host:port to listen on (default 127.0.0.1:7687)
//   NEO4J_USER      must be "neo4j": community edition has that one admin user
//   NEO4J_PASSWORD  set on first start and on every start after (at least 8 chars)

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

public class CtasNeo4j {
    public static void main(String[] args) throws Exception {
        String home = require("NEO4J_HOME");
        String user = System.getenv().getOrDefault("NEO4J_USER", "neo4j");
        String password = require("NEO4J_PASSWORD");
        String bolt = System.getenv().getOrDefault("NEO4J_BOLT_ADDR", "127.0.0.1:7687");
        if (!user.equals("neo4j")) {
            fail("NEO4J_USER must be 'neo4j' (community edition has only that user), got '" + user + "'");
        }
        if (password.length() < 8) {
            fail("NEO4J_PASSWORD must be at least 8 characters (Neo4j's minimum)");
        }
        int colon = bolt.lastIndexOf(':');
        if (colon < 0) {
            fail("NEO4J_BOLT_ADDR must be host:port, got '" + bolt + "'");
        }
        String host = bolt.substring(0, colon);
        int port = Integer.parseInt(bolt.substring(colon + 1));

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(Path.of(home))
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                // The tests and benchmarks load and delete ATT&CK again and again; the
                // default keeps two days of transaction logs, 256 MB files preallocated
                // (7 GB of them filled this machine's disk). Keep the last 200 MB only:
                // this server is a tier of the router, rebuilt from its log, not backed up
                // from Neo4j's.
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "200M size")
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, 64L * 1024 * 1024)
                .build();

        try {
            setPassword(dbms, password);
        } catch (RuntimeException e) {
            // Without this the DBMS's own threads would keep a half-started server alive.
            System.err.println("ctas-neo4j: cannot set the password: " + e.getMessage());
            dbms.shutdown();
            System.exit(1);
        }

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("ctas-neo4j: shutting down");
            dbms.shutdown();
            stopped.countDown();
        }));
        // scripts/neo4j.sh waits for this line before it declares the server ready.
        System.out.println("ctas-neo4j: ready, bolt://" + host + ":" + port);
        System.out.flush();
        stopped.await();
    }

    // The password is set through the system database on every start, so a changed
    // NEO4J_PASSWORD takes effect and no "change required" state remains. Neo4j refuses
    // to "change" a password to itself, which is what every restart asks for.
    private static void setPassword(DatabaseManagementService dbms, String password) {
        try {
            dbms.database("system").executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
        } catch (RuntimeException e) {
            if (!String.valueOf(e.getMessage()).contains("Old password and new password cannot be the same")) {
                throw e;
            }
        }
    }

    private static String require(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            fail(name + " is not set");
        }
        return v;
    }

    private static void fail(String message) {
        System.err.println("ctas-neo4j: " + message);
        System.exit(2);
    }
}
