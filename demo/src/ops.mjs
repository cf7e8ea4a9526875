// The demo's data operations: plain SQL on the app's own tables, through
// the sync client's database API (`db` is the sync: query / exec /
// transaction, run by whichever tab holds the database). The triggers
// edgesync installed record every write in sync_outbox; nothing here knows
// about sync.
const uid = (prefix) => `${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const now = () => new Date().toISOString();


// My role in a project: my membership row. The creator of a project not
// synced yet has none locally (the server makes them admin). A project I
// left (my row deleted) is hidden until the server's answer removes it.
const ROLE = `COALESCE(
  (SELECT m.role FROM projectMembers m WHERE m.projectId = p.id AND m.userId = ?1),
  CASE WHEN p.ownerId = ?1 AND NOT EXISTS (
    SELECT 1 FROM sync_outbox o WHERE o.tbl = 'projectMembers' AND o.op = 'D' AND o.pk = json_array(p.id, ?1)) THEN 'admin' END)`;

export const OPS = {
  listProjects: (db, user) => db.query(`
    SELECT * FROM (
      SELECT p.id, p.name, p.updatedAt, ${ROLE} AS role,
             (SELECT count(*) FROM projectMembers m WHERE m.projectId = p.id) AS members,
             (SELECT count(*) FROM workflowNodes n WHERE n.projectId = p.id) AS nodes,
             EXISTS (SELECT 1 FROM sync_outbox o WHERE o.tbl = 'projects' AND o.pk = json_array(p.id)) AS pending
      FROM projects p)
    WHERE role IS NOT NULL ORDER BY name COLLATE NOCASE, id`, [user]),

  members: (db, _user, projectId) => db.query(`
    SELECT m.userId, m.role, m.addedBy,
           EXISTS (SELECT 1 FROM sync_outbox o WHERE o.tbl = 'projectMembers' AND o.pk = json_array(m.projectId, m.userId)) AS pending
    FROM projectMembers m WHERE m.projectId = ? ORDER BY m.role = 'admin' DESC, m.userId`, [projectId]),

  // Adds a member or changes their role (admins only: the server refuses
  // anyone else's change, and the device rolls it back).
  setMember: async (db, user, projectId, userId, role) => {
    await db.exec(`INSERT INTO projectMembers (projectId, userId, role, addedBy) VALUES (?, ?, ?, ?)
            ON CONFLICT (projectId, userId) DO UPDATE SET role = excluded.role`, [projectId, userId, role, user]);
  },

  // Removes a member; removing yourself is leaving.
  removeMember: async (db, _user, projectId, userId) => {
    await db.exec('DELETE FROM projectMembers WHERE projectId = ? AND userId = ?', [projectId, userId]);
  },

  // One transaction: nodes and edges of the same moment.
  board: (db, _user, projectId) => db.transaction(async (tx) => ({
    nodes: await tx.query(`
      SELECT n.id, n.label, n.x, n.y, n.data, n.image,
             EXISTS (SELECT 1 FROM sync_outbox o WHERE o.tbl = 'workflowNodes' AND o.pk = json_array(n.id)) AS pending
      FROM workflowNodes n WHERE n.projectId = ? ORDER BY n.id`, [projectId]),
    edges: await tx.query(`SELECT id, source, target FROM workflowEdges WHERE projectId = ? ORDER BY id`, [projectId]),
  })),

  addProject: async (db, user, name) => {
    const id = uid('p');
    await db.exec('INSERT INTO projects (id, ownerId, name, updatedAt) VALUES (?, ?, ?, ?)', [id, user, name, now()]);
    return id;
  },

  renameProject: async (db, _user, id, name) => {
    await db.exec('UPDATE projects SET name = ?, updatedAt = ? WHERE id = ?', [name, now(), id]);
  },

  deleteProject: (db, _user, id) => db.transaction(async (tx) => {
    await tx.exec('DELETE FROM workflowEdges WHERE projectId = ?', [id]);
    await tx.exec('DELETE FROM workflowNodes WHERE projectId = ?', [id]);
    await tx.exec('DELETE FROM projects WHERE id = ?', [id]);
  }),

  addNode: async (db, user, projectId, label, x, y, id = uid('n')) => {
    await db.exec('INSERT INTO workflowNodes (id, projectId, ownerId, label, x, y, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [id, projectId, user, label, x, y, JSON.stringify({ kind: 'task' })]);
    return id;
  },

  moveNode: async (db, _user, id, x, y) => {
    await db.exec('UPDATE workflowNodes SET x = ?, y = ? WHERE id = ?', [x, y, id]);
  },

  renameNode: async (db, _user, id, label) => {
    await db.exec('UPDATE workflowNodes SET label = ? WHERE id = ?', [label, id]);
  },

  deleteNode: (db, _user, id) => db.transaction(async (tx) => {
    await tx.exec('DELETE FROM workflowEdges WHERE source = ?1 OR target = ?1', [id]);
    await tx.exec('DELETE FROM workflowNodes WHERE id = ?', [id]);
  }),

  addEdge: async (db, user, projectId, source, target) => {
    const id = uid('e');
    await db.exec('INSERT INTO workflowEdges (id, projectId, ownerId, source, target) VALUES (?, ?, ?, ?, ?)',
      [id, projectId, user, source, target]);
    return id;
  },

  deleteEdge: async (db, _user, id) => {
    await db.exec('DELETE FROM workflowEdges WHERE id = ?', [id]);
  },
};

/**
 * A query that reads every table the page shows (and no row): watched, it
 * fires after each commit that touched one of them — this tab's, another
 * tab's, or a pull — and the page re-renders.
 */
export const SHOWN_TABLES = `SELECT 1 FROM projects, projectMembers, workflowNodes, workflowEdges, sync_outbox LIMIT 0`;
