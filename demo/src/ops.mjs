// The demo's data operations: plain SQL on the app's own tables. The
// triggers edgesync installed record every write in sync_outbox; nothing here
// knows about sync.
const uid = (prefix) => `${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const now = () => new Date().toISOString();

const objects = (db, sql, bind) => db.selectObjects(sql, bind).map((r) => ({ ...r }));

// My role in a project: my membership row. The creator of a project not
// synced yet has none locally (the server makes them admin). A project I
// left (my row deleted) is hidden until the server's answer removes it.
const ROLE = `COALESCE(
  (SELECT m.role FROM projectMembers m WHERE m.projectId = p.id AND m.userId = ?1),
  CASE WHEN p.ownerId = ?1 AND NOT EXISTS (
    SELECT 1 FROM sync_outbox o WHERE o.tbl = 'projectMembers' AND o.op = 'D' AND o.pk = json_array(p.id, ?1)) THEN 'admin' END)`;

export const OPS = {
  listProjects: (db, user) => objects(db, `
    SELECT * FROM (
      SELECT p.id, p.name, p.updatedAt, ${ROLE} AS role,
             (SELECT count(*) FROM projectMembers m WHERE m.projectId = p.id) AS members,
             (SELECT count(*) FROM workflowNodes n WHERE n.projectId = p.id) AS nodes,
             EXISTS (SELECT 1 FROM sync_outbox o WHERE o.tbl = 'projects' AND o.pk = json_array(p.id)) AS pending
      FROM projects p)
    WHERE role IS NOT NULL ORDER BY name COLLATE NOCASE, id`, [user]),

  members: (db, _user, projectId) => objects(db, `
    SELECT m.userId, m.role, m.addedBy,
           EXISTS (SELECT 1 FROM sync_outbox o WHERE o.tbl = 'projectMembers' AND o.pk = json_array(m.projectId, m.userId)) AS pending
    FROM projectMembers m WHERE m.projectId = ? ORDER BY m.role = 'admin' DESC, m.userId`, [projectId]),

  // Adds a member or changes their role (admins only: the server refuses
  // anyone else's change, and the device rolls it back).
  setMember: (db, user, projectId, userId, role) => {
    db.exec({
      sql: `INSERT INTO projectMembers (projectId, userId, role, addedBy) VALUES (?, ?, ?, ?)
            ON CONFLICT (projectId, userId) DO UPDATE SET role = excluded.role`,
      bind: [projectId, userId, role, user],
    });
  },

  // Removes a member; removing yourself is leaving.
  removeMember: (db, _user, projectId, userId) => {
    db.exec({ sql: 'DELETE FROM projectMembers WHERE projectId = ? AND userId = ?', bind: [projectId, userId] });
  },

  board: (db, _user, projectId) => ({
    nodes: objects(db, `
      SELECT n.id, n.label, n.x, n.y, n.data,
             EXISTS (SELECT 1 FROM sync_outbox o WHERE o.tbl = 'workflowNodes' AND o.pk = json_array(n.id)) AS pending
      FROM workflowNodes n WHERE n.projectId = ? ORDER BY n.id`, [projectId]),
    edges: objects(db, `SELECT id, source, target FROM workflowEdges WHERE projectId = ? ORDER BY id`, [projectId]),
  }),

  addProject: (db, user, name) => {
    const id = uid('p');
    db.exec({ sql: 'INSERT INTO projects (id, ownerId, name, updatedAt) VALUES (?, ?, ?, ?)', bind: [id, user, name, now()] });
    return id;
  },

  renameProject: (db, _user, id, name) => {
    db.exec({ sql: 'UPDATE projects SET name = ?, updatedAt = ? WHERE id = ?', bind: [name, now(), id] });
  },

  deleteProject: (db, _user, id) => {
    db.exec('BEGIN');
    try {
      db.exec({ sql: 'DELETE FROM workflowEdges WHERE projectId = ?', bind: [id] });
      db.exec({ sql: 'DELETE FROM workflowNodes WHERE projectId = ?', bind: [id] });
      db.exec({ sql: 'DELETE FROM projects WHERE id = ?', bind: [id] });
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  },

  addNode: (db, user, projectId, label, x, y, id = uid('n')) => {
    db.exec({
      sql: 'INSERT INTO workflowNodes (id, projectId, ownerId, label, x, y, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
      bind: [id, projectId, user, label, x, y, JSON.stringify({ kind: 'task' })],
    });
    return id;
  },

  moveNode: (db, _user, id, x, y) => {
    db.exec({ sql: 'UPDATE workflowNodes SET x = ?, y = ? WHERE id = ?', bind: [x, y, id] });
  },

  renameNode: (db, _user, id, label) => {
    db.exec({ sql: 'UPDATE workflowNodes SET label = ? WHERE id = ?', bind: [label, id] });
  },

  deleteNode: (db, _user, id) => {
    db.exec('BEGIN');
    try {
      db.exec({ sql: 'DELETE FROM workflowEdges WHERE source = ?1 OR target = ?1', bind: [id] });
      db.exec({ sql: 'DELETE FROM workflowNodes WHERE id = ?', bind: [id] });
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  },

  addEdge: (db, user, projectId, source, target) => {
    const id = uid('e');
    db.exec({
      sql: 'INSERT INTO workflowEdges (id, projectId, ownerId, source, target) VALUES (?, ?, ?, ?, ?)',
      bind: [id, projectId, user, source, target],
    });
    return id;
  },

  deleteEdge: (db, _user, id) => {
    db.exec({ sql: 'DELETE FROM workflowEdges WHERE id = ?', bind: [id] });
  },
};

/** Operations that write (the other tabs re-render after them). */
export const WRITES = new Set(['setMember', 'removeMember', 'addProject', 'renameProject', 'deleteProject', 'addNode', 'moveNode', 'renameNode', 'deleteNode', 'addEdge', 'deleteEdge']);
